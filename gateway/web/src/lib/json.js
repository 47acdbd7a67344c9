// JSON text from the API, parsed without losing digits. An entry's context
// comes back exactly as it was stored, and ids in it (snowflakes, 64-bit
// trace ids) are often integers past 2^53, which a plain JSON.parse rounds
// to the nearest double. Such an integer is kept as its source text
// (JSON.rawJSON), which JSON.stringify writes back unchanged, so the page
// shows and copies what the application sent.

/** JSON.parse that keeps integers beyond Number's exact range as written. */
export function parseJSON(text) {
  return JSON.parse(text, keepDigits);
}

// The reviver's third argument (the value's source text) and JSON.rawJSON
// are in every current browser (Chromium 114+, Firefox 135+, Safari 18.4+);
// without them the value stays the rounded number.
function keepDigits(_key, value, context) {
  if (
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context &&
    typeof context.source === 'string' &&
    /^-?\d+$/.test(context.source) &&
    typeof JSON.rawJSON === 'function'
  ) {
    return JSON.rawJSON(context.source);
  }
  return value;
}
