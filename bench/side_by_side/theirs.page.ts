// Page script: the published packages, as an application imports them.
import { getTunnelState, mixFetch, setupMixTunnel } from 'published-mix-fetch';
import { installSideBySide } from './page-api';

installSideBySide({ setup: setupMixTunnel, state: getTunnelState, fetch: (url, init) => mixFetch(url, init) });
