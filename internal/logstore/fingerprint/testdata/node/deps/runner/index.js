'use strict';
// A dependency the application calls through.
function invoke(fn) {
  return [fn].map((f) => f())[0];
}
module.exports = function run(fn) {
  return invoke(fn);
};
