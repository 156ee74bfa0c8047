package dev.eaglespark.data;

/** A [start, end) range of UTF-16 offsets in a rendered text. */
public record TextSpan(int start, int end) {
    public boolean contains(int index) {
        return index >= start && index < end;
    }

    public boolean overlaps(int from, int to) {
        return from < end && to > start;
    }
}
