package dev.worka.gateway.http;

/** Handles one method + path pattern. Expected failures are thrown as {@link ApiException}. */
@FunctionalInterface
public interface Route {
  ApiResponse handle(ApiRequest request) throws Exception;
}
