// Graphics: colour maps, heatmap overlays, terminal image encoders (ASCII, half blocks, sixel).
