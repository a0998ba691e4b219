'use strict';
// The CommonJS entry (`require('sepconv')`). sepconv is an ES module; Node ≥ 20.19 and ≥ 22.12 can
// require() ES modules, so this hands over the very same module instance `import` gives. Older Node
// cannot: say so, and how to load sepconv there, instead of Node's generic ERR_REQUIRE_ESM.
try {
  module.exports = require('./index.js');
} catch (error) {
  if (error && (error.code === 'ERR_REQUIRE_ESM' || error.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      `sepconv is an ES module, and this Node (${process.version}) cannot require() ES modules: ` +
        "use `const sepconv = await import('sepconv')`, or Node ≥ 20.19 (or ≥ 22.12), where require('sepconv') works",
      { cause: error },
    );
  }
  throw error;
}
