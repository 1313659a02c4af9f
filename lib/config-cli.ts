/**
 * `npm run --silent config`: the effective configuration as JSON on stdout, secrets as `***`,
 * unset settings as null. An invalid configuration prints why on stderr and exits with 2,
 * exactly as the service would refuse to start.
 */
import { displayConfig, loadConfigOrExit } from './config.js';

const config = loadConfigOrExit();
process.stdout.write(`${JSON.stringify(displayConfig(config), null, 2)}\n`);
