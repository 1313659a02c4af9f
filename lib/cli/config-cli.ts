/**
 * `npm run --silent config`: the effective configuration as JSON on stdout, secrets as `***`,
 * unset settings as null. An invalid configuration prints why on stderr and exits with 2,
 * exactly as the service would refuse to start. A knowingly open embedded broker
 * (`EMBEDDED_MQTT_ALLOW_ANONYMOUS=true` on a network address) is warned about on stderr.
 */
import { openBrokerWarning } from '../config/checks.js';
import { loadConfigOrExit } from '../config/load.js';
import { displayConfig } from '../config/redact.js';

const config = loadConfigOrExit();
const warning = openBrokerWarning(config);
if (warning !== undefined) process.stderr.write(`warning: ${warning}\n`);
process.stdout.write(`${JSON.stringify(displayConfig(config), null, 2)}\n`);
