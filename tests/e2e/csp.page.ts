// Page script for a page under a strict Content-Security-Policy (no blob:
// workers): mix-tunnel's worker loaded from a file beside the page.
import { useMixTunnelWorkerUrl } from '@nymproject/mix-tunnel';
import { mixFetch, setupMixTunnel } from '@nymproject/mix-fetch';

declare global {
  interface Window {
    mixFetch: typeof mixFetch;
    setupMixTunnel: typeof setupMixTunnel;
  }
}

useMixTunnelWorkerUrl(new URL('./worker.js', location.href));
window.mixFetch = mixFetch;
window.setupMixTunnel = setupMixTunnel;
document.body.dataset['ready'] = '1';
