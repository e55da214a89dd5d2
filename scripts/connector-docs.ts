// Prints the connector reference for the README (between the `connectors:` markers).
import { builtinRegistry } from '../connectors/index.js';
import { connectorReference } from '../src/docs/connector-reference.js';

process.stdout.write(connectorReference(builtinRegistry()) + '\n');
