// Page script: our packages, as an application imports them.
import { getTunnelState, getTunnelStats, mixFetch, setupMixTunnel } from '@nymproject/mix-fetch';
import { installSideBySide } from './page-api';

installSideBySide({
  setup: setupMixTunnel,
  state: getTunnelState,
  fetch: (url, init) => mixFetch(url, init),
  stats: getTunnelStats,
});
