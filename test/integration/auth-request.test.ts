/** The auth_request style, each request verified (jwt-auth-request-locations.conf). */
import { authRequestSuite } from './auth-request-suite';

authRequestSuite('uncached');
