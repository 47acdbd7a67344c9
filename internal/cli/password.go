package cli

import (
	"fmt"
	"io"

	"golang.org/x/term"
)

// readPassword reads a password from the terminal fd without echo. Echo is
// turned off before the prompt is written (where the system allows it,
// noEcho), so what is typed or pasted as soon as the prompt shows is never
// echoed.
func readPassword(fd int, stderr io.Writer, prompt string) ([]byte, error) {
	restore, err := noEcho(fd)
	if err != nil {
		return nil, fmt.Errorf("turning off echo: %w", err)
	}
	defer restore()
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	return b, err
}
