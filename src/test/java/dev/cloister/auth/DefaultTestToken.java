package dev.cloister.auth;

import io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback;
import io.quarkus.test.junit.callback.QuarkusTestMethodContext;
import io.restassured.RestAssured;
import io.restassured.filter.Filter;
import io.restassured.filter.FilterContext;
import io.restassured.response.Response;
import io.restassured.specification.FilterableRequestSpecification;
import io.restassured.specification.FilterableResponseSpecification;

import java.util.ArrayList;
import java.util.List;

/**
 * The one place that gives every {@code @QuarkusTest} a real token: before each test method, every RestAssured
 * request without an {@code Authorization} header gets {@code Bearer <token>} for team {@code test} with every role,
 * issued from the issuer key of the application under test. Authentication stays on in tests; a test that needs
 * another token (or none) sends its own header or uses its own client (see {@code AuthMatrixTest}). Registered in
 * {@code META-INF/services/io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback}.
 */
public final class DefaultTestToken implements QuarkusTestBeforeEachCallback {

    // Issued for each test (a millisecond): a test profile with another data dir has another issuer key.
    @Override
    public void beforeEach(QuarkusTestMethodContext context) {
        List<Filter> filters = new ArrayList<>(RestAssured.filters().stream().filter(f -> !(f instanceof Bearer))
                .toList());
        filters.add(new Bearer(TestTokens.ofRunningService().defaultToken()));
        RestAssured.replaceFiltersWith(filters);
    }

    /** Adds the token to a request that carries none. */
    private record Bearer(String token) implements Filter {
        @Override
        public Response filter(FilterableRequestSpecification request, FilterableResponseSpecification response,
                               FilterContext context) {
            if (!request.getHeaders().hasHeaderWithName("Authorization")) {
                request.header("Authorization", "Bearer " + token);
            }
            return context.next(request, response);
        }

        @Override
        public String toString() {
            return "Bearer[token hidden]";
        }
    }
}
