// What the playground's page is told about the networks it can use: its
// server writes config.json (localnet's settings, known only once localnet
// runs), and the page adds mainnet, which needs nothing from the server.
import type { SetupMixTunnelOpts } from '@nymproject/mix-tunnel';

export interface PlaygroundNetwork {
  name: string;
  /** Passed to setupMixTunnel, with a fresh clientId each time. */
  tunnelOptions: SetupMixTunnelOpts;
  /** What the panels start with on this network. */
  fetchUrl: string;
  dnsName: string;
  webSocketUrl: string;
}

export interface PlaygroundConfig {
  networks: PlaygroundNetwork[];
}

export const MAINNET: PlaygroundNetwork = {
  name: 'mainnet',
  // no preferredIpr or preferredGateway: the client picks both from the directory
  tunnelOptions: { nymApiUrl: 'https://validator.nymtech.net/api/', forceTls: true },
  fetchUrl: 'https://nymtech.net/',
  dnsName: 'nymtech.net',
  webSocketUrl: 'wss://echo.websocket.org/',
};
