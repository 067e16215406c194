// Page script: mix-fetch as an application imports it; the test drives it
// with page.evaluate.
import { mixFetch, setupMixTunnel } from '@nymproject/mix-fetch';

declare global {
  interface Window {
    mixFetch: typeof mixFetch;
    setupMixTunnel: typeof setupMixTunnel;
  }
}

window.mixFetch = mixFetch;
window.setupMixTunnel = setupMixTunnel;
document.body.dataset['ready'] = '1';
