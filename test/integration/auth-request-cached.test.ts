/** The same suite through the cached auth_request style (jwt-auth-cache-locations.conf + jwt-verifier.conf). */
import { authRequestSuite } from './auth-request-suite';

authRequestSuite('cached');
