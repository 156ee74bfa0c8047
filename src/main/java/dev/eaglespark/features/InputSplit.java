package dev.eaglespark.features;

import java.io.Serializable;

/**
 * A run of whole lines of one conversation file: lines [firstLine, firstLine + lineCount),
 * starting {@code byteOffset} bytes into the decompressed stream.
 */
public record InputSplit(String path, long firstLine, long lineCount, long byteOffset, boolean compressed)
        implements Serializable {}
