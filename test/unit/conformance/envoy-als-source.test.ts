import { envoyAlsSource, type EnvoyAlsSource } from '../../../connectors/sources/envoy-als/source.js';
import { httpEntry, identifier, message, openStream } from '../../support/envoy-als.js';
import { sourceConformance } from '../../support/conformance/source.js';

// Envoy's side of the protocol over a real gRPC channel: one client-streaming call per batch, half-closed
// after it, so the answer (OK, or an error when the store failed) is the acknowledgement.
sourceConformance('envoy-als', {
  connector: envoyAlsSource,
  config: () => ({ port: 0 }),
  async send(instance, ids) {
    const address = (instance.source as EnvoyAlsSource).address();
    if (!address) return false;
    const call = openStream(`127.0.0.1:${address.port}`);
    try {
      await call.write(message(ids.map((id) => httpEntry({ id })), identifier('edge-1')));
      call.call.end();
      return (await call.done).error === null;
    } finally {
      call.close();
    }
  },
  pickupMs: 5_000,
  badConfigs: [
    { what: 'a port out of range', block: { port: 70_000 }, pointer: '/port', message: /port must be <= 65535/ },
    { what: 'client certificates required without a CA', block: { tls: { cert: 'server.pem', key: 'server.key', requireClientCert: true } }, message: /requireClientCert needs tls.ca/ },
  ],
});
