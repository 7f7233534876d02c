import path from 'node:path';

/**
 * Absolute path of the console's static files (CSS, the page script, the chart library copied
 * from node_modules), written by `npm run build` (src/console/ui/build-assets.ts) to
 * dist/console-ui/. This file compiles to dist/src/console/ui/, three levels below dist/.
 */
export const consoleAssetsDir: string = path.resolve(__dirname, '..', '..', '..', 'console-ui');
