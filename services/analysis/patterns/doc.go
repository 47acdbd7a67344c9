// Package patterns mines log templates from message text as lines stream in:
// every line belongs to exactly one pattern, identified by a stable ID, with a
// template whose variables are placeholders (<num>, <ip>, <uuid>, ... or <*>).
//
// One configuration serves every project (no per-format rules): masking of
// typed variables, a Drain-style leaf per token count and first token, and a
// position of a template turns <*> only once it has shown Config.MinVariants
// distinct values, so a word that takes two values (ON/OFF) stays two
// patterns while one that takes many (user names) becomes a variable.
// README.md beside this file gives the algorithm, the measured accuracy and
// what stays stable about ids.
package patterns
