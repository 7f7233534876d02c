/**
 * The console's browser side, as CONSOLE-API's routes use it: HTML shells rendered on the server
 * (the page's data comes from /api/v1 through the page's script), the folder of static assets
 * mounted at /console/assets/, and the language choice from Accept-Language.
 */
export { pickLanguage, type ConsoleLanguage } from './pick-language';
export { renderLoginPage, type LoginPageOptions } from './render-login-page';
export { renderAppPage, type AppPage, type AppPageOptions } from './render-app-page';
export { consoleAssetsDir } from './assets-dir';
