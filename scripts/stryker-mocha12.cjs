// Loaded with --require by `npm run mutate` (the Stryker process and its test runners).
// @stryker-mutator/mocha-runner 10.1.1 requires mocha/lib/cli/{run-helpers,options,collect-files}
// without an extension; mocha 12.0 ships them as .cjs, so the plugin fails to load
// (stryker-js PR 6205, open). Retry such a request with .cjs. Remove once a fixed runner is out.
'use strict';
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  try {
    return resolve.call(this, request, ...rest);
  } catch (err) {
    if (/[\\/]mocha[\\/]lib[\\/]cli[\\/][\w-]+$/.test(request)) return resolve.call(this, `${request}.cjs`, ...rest);
    throw err;
  }
};
