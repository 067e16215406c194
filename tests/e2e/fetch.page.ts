// Page script: mix-fetch as an application imports it; the test drives it
// with page.evaluate.
import { disconnectMixTunnel, getTunnelStats, mixFetch, setupMixTunnel } from '@nymproject/mix-fetch';

declare global {
  interface Window {
    mixFetch: typeof mixFetch;
    setupMixTunnel: typeof setupMixTunnel;
    disconnectMixTunnel: typeof disconnectMixTunnel;
    getTunnelStats: typeof getTunnelStats;
  }
}

window.mixFetch = mixFetch;
window.setupMixTunnel = setupMixTunnel;
window.disconnectMixTunnel = disconnectMixTunnel;
window.getTunnelStats = getTunnelStats;
document.body.dataset['ready'] = '1';
