import { validateConnectorBlock } from '../config/connector-config.js';
import type { ReflexConfig } from '../config/types.js';
import type { Registry } from '../registry.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { asyncApiDocument, type ContractSink } from './asyncapi.js';

/** The configured sinks whose connectors declare a contract, with their settings checked and defaulted. */
export function contractSinks(sinks: ReflexConfig['sinks'], registry: Registry): ContractSink[] {
  const out: ContractSink[] = [];
  for (const block of sinks) {
    const connector = registry.sinks.get(block.type);
    const settings = validateConnectorBlock('sink', block, connector, registry);
    if (!connector?.contract) continue;
    out.push({ name: connector.instanceName(settings), streams: connector.streams(settings), contract: connector.contract(settings) });
  }
  return out;
}

/** GET /asyncapi.json: the document of the specs active at each request, over the sinks configured at start. */
export function asyncApiOf(config: ReflexConfig, registry: Registry): (specs: CompiledSpecSet) => unknown {
  let sinks: ContractSink[] | undefined;
  return (specs) => asyncApiDocument(specs.contracts, specs.streams, (sinks ??= contractSinks(config.sinks, registry)));
}
