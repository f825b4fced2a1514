"""networkx graphs and frame data -> DOT, SVG, PNG, PDF, GIF, HTML, text and charts."""
