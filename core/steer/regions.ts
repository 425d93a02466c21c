/**
 * Cloudflare Load Balancing's region codes from a request's country (ISO 3166-1 alpha-2) and,
 * for the US and Canada, longitude. The mapping follows Cloudflare's published region list
 * (WNAM/ENAM split North America west/east; WEU/EEU Europe; NSAM/SSAM South America; ME, NAF,
 * SAF, SAS, SEAS, NEAS, OC). Unlisted countries fall back on their continent.
 */
export const REGIONS = ['WNAM', 'ENAM', 'WEU', 'EEU', 'NSAM', 'SSAM', 'OC', 'ME', 'NAF', 'SAF', 'SAS', 'SEAS', 'NEAS'] as const;
export type Region = (typeof REGIONS)[number];

const BY_COUNTRY: Record<string, Region> = {};
const assign = (region: Region, codes: string) => codes.split(' ').forEach((c) => (BY_COUNTRY[c] = region));
assign('WEU', 'AD AT BE CH DE DK ES FI FO FR GB GG GI GL IE IM IS IT JE LI LU MC MT NL NO PT SE SM VA');
assign('EEU', 'AL AM AZ BA BG BY CY CZ EE GE GR HR HU LT LV MD ME MK PL RO RS RU SI SK TR UA XK');
assign('ME', 'AE BH IL IQ IR JO KW LB OM PS QA SA SY YE');
assign('NAF', 'DZ EG EH LY MA SD TN BF BJ CV GH GM GN GW LR ML MR NE NG SL SN TD TG CI CM CF');
assign('SAF', 'AO BI BW CD CG DJ ER ET GA GQ KE KM LS MG MU MW MZ NA RE RW SC SO SS ST SZ TZ UG YT ZA ZM ZW');
assign('SAS', 'AF BD BT IN LK MV NP PK');
assign('SEAS', 'BN ID KH LA MM MY PH SG TH TL VN');
assign('NEAS', 'CN HK JP KP KR MN MO TW');
assign('OC', 'AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV VU WF WS');
assign('NSAM', 'BO BR CO EC GF GY PE SR VE AW BQ CW');
assign('SSAM', 'AR CL PY UY FK');
assign('ENAM', 'AG AI BB BL BM BS BZ CR CU DM DO GD GP GT HN HT JM KN KY LC MF MQ MS NI PA PM PR SV TC TT VC VG VI');
assign('WNAM', 'MX');

const BY_CONTINENT: Record<string, Region> = { EU: 'WEU', AS: 'SEAS', AF: 'SAF', OC: 'OC', SA: 'NSAM', NA: 'ENAM', AN: 'OC' };

/**
 * The region of a request; undefined when nothing is known. `longitude` (degrees) splits the US
 * and Canada at -100° (west of it: WNAM).
 */
export function regionOf(country?: string, continent?: string, longitude?: number): Region | undefined {
  const cc = country?.toUpperCase();
  if (cc === 'US' || cc === 'CA') return longitude !== undefined && longitude < -100 ? 'WNAM' : 'ENAM';
  if (cc && BY_COUNTRY[cc]) return BY_COUNTRY[cc];
  return continent ? BY_CONTINENT[continent.toUpperCase()] : undefined;
}
