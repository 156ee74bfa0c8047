package dev.eaglespark.data;

/** A record that did not become a sample: which one, where it was, and why. */
public record Reject(String id, RejectReason reason, String message, String source, long line) {}
