/**
 * Every error code closeloop has: the core's and each adapter's, with who fixes it. docs/errors.md
 * documents each (test/unit/errors-doc.test.ts keeps the two in sync).
 */
import { CORE_ERROR_CODES, type ErrorCode, type ErrorCodeInfo } from './core/errors';
import { METRICA_MANAGEMENT_ERROR_CODES } from './adapters/destinations/metrica/metrica-management-errors';
import { AMOCRM_ERROR_CODES } from './adapters/crm/amocrm/errors';
import { BITRIX24_ERROR_CODES } from './adapters/crm/bitrix24/errors';
import { GA4_ERROR_CODES } from './adapters/destinations/ga4/errors';
import { METRICA_ERROR_CODES } from './adapters/destinations/metrica/errors';
import { CONSOLE_ERROR_CODES } from './console/errors';

export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  ...METRICA_MANAGEMENT_ERROR_CODES,
  ...CORE_ERROR_CODES,
  ...AMOCRM_ERROR_CODES,
  ...BITRIX24_ERROR_CODES,
  ...GA4_ERROR_CODES,
  ...METRICA_ERROR_CODES,
  ...CONSOLE_ERROR_CODES,
};
