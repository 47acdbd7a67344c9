// Fails from a few call sites, for the fingerprint's tests (fingerprint_test.go):
//   node app.js <pay|paytype|user> <id>
// prints the error's stack to stdout. runner is a dependency
// (deps/runner, copied to node_modules/runner by the test): its frames
// are not the application's.
'use strict';
const run = require('runner');

class PaymentError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PaymentError';
  }
}

function charge(id, ms, Type) {
  throw new Type(`payment ${id} failed: timeout after ${ms} ms`);
}

function pay(id, Type) {
  charge(id, id * 7 + 1000, Type);
}

function loadUser(id) {
  const users = {};
  return users[id].name;
}

const [what, idText] = process.argv.slice(2);
const id = Number(idText);
try {
  run(() => {
    if (what === 'pay') pay(id, PaymentError);
    else if (what === 'paytype') pay(id, TypeError);
    else loadUser(id);
  });
} catch (e) {
  process.stdout.write(e.stack);
}
