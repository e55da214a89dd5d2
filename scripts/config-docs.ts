// Prints the table of reflex.yaml keys for the README (between the `config:` markers).
import { CONFIG_SCHEMA } from '../src/config/schema.js';
import { configReference } from '../src/docs/config-reference.js';
import { SHARED_SINK_FIELDS } from '../src/sdk/define.js';

process.stdout.write(configReference(CONFIG_SCHEMA, SHARED_SINK_FIELDS) + '\n');
