package dev.steer.cli.serve;

/**
 * A request the server refuses, answered in OpenAI's error shape
 * {@code {"error": {"message", "type", "param", "code"}}} with its HTTP status.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 invalid_request_error naming {@code param}. */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }
}
