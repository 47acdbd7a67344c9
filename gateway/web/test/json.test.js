import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJSON } from '../src/lib/json.js';
import { prettyJSON } from '../src/lib/format.js';

test('integers past 2^53 keep every digit through parse and pretty-print', () => {
  const text = '{"context":{"a":9007199254740993,"b":9223372036854775807,"c":-9223372036854775808,"d":[18446744073709551615]}}';
  const got = prettyJSON(parseJSON(text).context);
  assert.match(got, /"a": 9007199254740993,/);
  assert.match(got, /"b": 9223372036854775807,/);
  assert.match(got, /"c": -9223372036854775808,/);
  assert.match(got, /18446744073709551615/);
  // A plain parse is what this guards against.
  assert.doesNotMatch(JSON.stringify(JSON.parse(text)), /9007199254740993/);
});

test('everything else parses as JSON.parse does', () => {
  const text = '{"id":42,"f":1.5e300,"x":0.1,"neg":-7,"s":"9007199254740993","n":null,"t":true,"l":[1,2],"o":{}}';
  assert.deepEqual(parseJSON(text), JSON.parse(text));
  assert.equal(typeof parseJSON(text).id, 'number', 'safe integers stay numbers');
  assert.throws(() => parseJSON('{"a":'), SyntaxError);
});
