package dev.cloister.auth;

import io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback;
import io.quarkus.test.junit.callback.QuarkusTestMethodContext;
import io.restassured.RestAssured;
import io.restassured.builder.RequestSpecBuilder;

/**
 * The one place that gives every {@code @QuarkusTest} a real token: before each test method, RestAssured's default
 * request carries {@code Authorization: Bearer <token>} for team {@code test} with every role, issued from the issuer
 * key of the application under test. Authentication stays on in tests; a test that needs another token (or none)
 * sends its requests with its own client (see {@code AuthMatrixTest}). Registered in
 * {@code META-INF/services/io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback}.
 */
public final class DefaultTestToken implements QuarkusTestBeforeEachCallback {

    // Issued for each test (a millisecond): a test profile with another data dir has another issuer key.
    @Override
    public void beforeEach(QuarkusTestMethodContext context) {
        String token = TestTokens.ofRunningService().defaultToken();
        RestAssured.requestSpecification = new RequestSpecBuilder().addHeader("Authorization", "Bearer " + token)
                .build();
    }
}
