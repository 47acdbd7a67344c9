// Fails from a few call sites; its output is checked in as the Java
// fixtures of fingerprint_test.go (see testdata/java/README).
//   java App.java <pay|paytype|user|caused> <id>
package com.acme.shop;

import java.util.List;
import java.util.Map;

public class App {
    static class PaymentException extends RuntimeException {
        PaymentException(String m, Throwable cause) { super(m, cause); }
    }

    static void charge(int id, int ms, boolean state) {
        String m = "payment " + id + " failed: timeout after " + ms + " ms";
        if (state) throw new IllegalStateException(m);
        throw new PaymentException(m, null);
    }

    static void pay(int id, boolean state) { charge(id, id * 7 + 1000, state); }

    static String loadUser(int id) {
        Map<String, String> users = Map.of();
        return users.get("u" + id).trim();
    }

    static void connect(int id) {
        try {
            Integer.parseInt("port-" + id);
        } catch (NumberFormatException e) {
            throw new PaymentException("payment " + id + " failed: no gateway", e);
        }
    }

    public static void main(String[] args) {
        String what = args[0];
        int id = Integer.parseInt(args[1]);
        try {
            List.of(1).forEach(x -> {
                switch (what) {
                    case "pay" -> pay(id, false);
                    case "paytype" -> pay(id, true);
                    case "caused" -> connect(id);
                    default -> loadUser(id);
                }
            });
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
        }
    }
}
