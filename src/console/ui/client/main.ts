/**
 * The page script's entry: runs the part for the page the server rendered (<main data-page>), and
 * makes the header's deal-id box open that deal's trace. Loaded with `defer`, so the DOM is ready.
 */

(function start(): void {
  const main = byId('app');
  const page = main?.getAttribute('data-page');
  const jump = byId<HTMLFormElement>('deal-jump');
  jump?.addEventListener('submit', (event) => {
    const id = (jump.elements.namedItem('deal') as HTMLInputElement | null)?.value.trim();
    if (!id) return;
    event.preventDefault();
    window.location.assign(`/console/deals/${encodeURIComponent(id)}`);
  });
  switch (page) {
    case 'overview':
      startOverviewPage();
      break;
    case 'deliveries':
      startDeliveriesPage();
      break;
    case 'deal':
      startDealPage(main?.getAttribute('data-deal-id') ?? '');
      break;
    case 'setup':
      startSetupPage();
      break;
    default:
      break;
  }
})();
