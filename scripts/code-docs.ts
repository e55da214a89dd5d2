// Prints the table of diagnostic codes for the README (between the `codes:` markers).
import { codeReference } from '../src/docs/code-reference.js';

process.stdout.write(codeReference() + '\n');
