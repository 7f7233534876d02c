/**
 * Names Google Analytics reserves. The lists in research/ga4-mp.md A3 disagree, so:
 * - the Measurement Protocol list (Part D rule 21: Google's Event Builder list and Firebase's
 *   automatic events) is what the payload validator refuses;
 * - the web naming rules add events gtag collects by itself (page_view, click, scroll, …): sending
 *   them from a CRM would mix with the site's own, so the config refuses those too.
 * Not reserved: purchase, refund and the lead events.
 */

export const RESERVED_NAME_PREFIXES = ['google_', 'ga_', 'firebase_'] as const;

export const MP_RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_background',
  'app_clear_data',
  'app_exception',
  'app_install',
  'app_remove',
  'app_store_refund',
  'app_store_subscription_cancel',
  'app_store_subscription_convert',
  'app_store_subscription_renew',
  'app_update',
  'app_upgrade',
  'dynamic_link_app_open',
  'dynamic_link_app_update',
  'dynamic_link_first_open',
  'error',
  'firebase_campaign',
  'first_open',
  'first_visit',
  'in_app_purchase',
  'notification_dismiss',
  'notification_foreground',
  'notification_open',
  'notification_receive',
  'os_update',
  'session_start',
  'session_start_with_rollout',
  'user_engagement',
]);

/** Web naming rules (support.google.com/analytics/answer/13316687), beyond the MP list. */
export const WEB_RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  'ad_impression',
  'click',
  'file_download',
  'form_start',
  'form_submit',
  'page_view',
  'screen_view',
  'scroll',
  'video_complete',
  'video_progress',
  'video_start',
  'view_complete',
  'view_search_results',
]);

/** What a rule may not send: both lists. */
export const CONFIG_RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  ...MP_RESERVED_EVENT_NAMES,
  ...WEB_RESERVED_EVENT_NAMES,
]);
