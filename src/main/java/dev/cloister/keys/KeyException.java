package dev.cloister.keys;

/** A host key could not be created, read, decrypted or stored; the message never contains key material. */
public class KeyException extends Exception {

    public KeyException(String message) {
        super(message);
    }

    public KeyException(String message, Throwable cause) {
        super(message, cause);
    }
}
