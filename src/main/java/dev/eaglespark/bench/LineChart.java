package dev.eaglespark.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A PNG line chart drawn with java.awt alone (headless: no display, no plotting library): series
 * of points, each drawn as a line with markers, or as lone labelled markers.
 */
public final class LineChart {
    /** Points (x[i], y[i]); {@code line} false draws markers with their labels only. */
    public record Series(String name, double[] x, double[] y, boolean line, List<String> labels) {}

    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
        new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};
    private static final int W = 960;
    private static final int H = 600;
    private static final int LEFT = 80;
    private static final int RIGHT = 220;
    private static final int TOP = 60;
    private static final int BOTTOM = 70;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();

    public LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    public LineChart add(Series s) {
        series.add(s);
        return this;
    }

    public void write(Path png) throws IOException {
        double x0 = 0;
        double x1 = 1e-9;
        double y0 = 1;
        double y1 = 1 + 1e-9;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                x1 = Math.max(x1, s.x()[i]);
                y0 = Math.min(y0, s.y()[i]);
                y1 = Math.max(y1, s.y()[i]);
            }
        }
        double yStep = niceStep((y1 - y0) / 6);
        y0 = Math.floor(y0 / yStep) * yStep;
        y1 = Math.ceil(y1 / yStep) * yStep;
        double xStep = niceStep(x1 / 8);
        x1 = Math.ceil(x1 / xStep) * xStep;

        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, 35);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        Frame f = new Frame(x0, x1, y0, y1);
        for (double y = y0; y <= y1 + yStep / 2; y += yStep) {
            int py = f.py(y);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(LEFT, py, W - RIGHT, py);
            g.setColor(Color.DARK_GRAY);
            g.drawString(format(y, yStep), 20, py + 5);
        }
        for (double x = x0; x <= x1 + xStep / 2; x += xStep) {
            int px = f.px(x);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(px, TOP, px, H - BOTTOM);
            g.setColor(Color.DARK_GRAY);
            String t = format(x, xStep);
            g.drawString(t, px - g.getFontMetrics().stringWidth(t) / 2, H - BOTTOM + 20);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        g.drawString(xLabel, LEFT + (W - LEFT - RIGHT - g.getFontMetrics().stringWidth(xLabel)) / 2, H - 20);
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        rotated.drawString(yLabel, -(TOP + (H - TOP - BOTTOM + g.getFontMetrics().stringWidth(yLabel)) / 2), 14);
        rotated.dispose();
        for (int s = 0; s < series.size(); s++) {
            Series ser = series.get(s);
            g.setColor(COLORS[s % COLORS.length]);
            g.setStroke(new BasicStroke(2.2f));
            for (int i = 0; i < ser.x().length; i++) {
                int px = f.px(ser.x()[i]);
                int py = f.py(ser.y()[i]);
                if (ser.line() && i > 0) {
                    g.drawLine(f.px(ser.x()[i - 1]), f.py(ser.y()[i - 1]), px, py);
                }
                g.fillOval(px - 4, py - 4, 9, 9);
                if (ser.labels() != null && i < ser.labels().size()) {
                    g.drawString(ser.labels().get(i), px + 7, py - 6);
                }
            }
            int ly = TOP + 20 + 22 * s;
            g.fillOval(W - RIGHT + 15, ly - 9, 9, 9);
            g.drawString(ser.name(), W - RIGHT + 30, ly);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    /** Data to pixel coordinates of the plot area. */
    private record Frame(double x0, double x1, double y0, double y1) {
        int px(double x) {
            return LEFT + (int) Math.round((x - x0) / (x1 - x0) * (W - LEFT - RIGHT));
        }

        int py(double y) {
            return H - BOTTOM - (int) Math.round((y - y0) / (y1 - y0) * (H - TOP - BOTTOM));
        }
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        double p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-12))));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * p >= raw) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** A tick value with as many decimals as its step needs. */
    static String format(double v, double step) {
        int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
        return String.format("%." + decimals + "f", v);
    }
}
