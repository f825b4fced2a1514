"""networkx graphs and frame data -> DOT, SVG, PNG, PDF, GIF, HTML, text and charts.

One room per output family; import from the module you need (importing this package
imports nothing else):

    diagrams/   DOT source for values, one head, blocks; rendering through `dot`
    animation/  the frame model, SVG frames, the GIF, the HTML stepper, writing them
    panels/     panel data, matplotlib charts, the HTML report
    terminal    the text stepper

Shared by all rooms: quoting (escaping), themes (colours), exceptions, assets (reads
the .js, .css and .html files a room's assets/ folder holds for its HTML page).
"""
