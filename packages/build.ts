// `make packages`: builds each package's dist/ and prints its size.
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { buildDist } from './mix-tunnel/build';

const file = await buildDist();
const bytes = await readFile(file);
console.log(`${file}: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} gzipped`);
