"""Value graphs as networkx graphs: tracing, queries, replay and export.

Import from the module you need (importing this package imports nothing else):

    graph         trace(*roots): the Value graph as a networkx MultiDiGraph (the schema)
    model_trace   trace the model's loss on a text
    checkpoint_trace
                  the same for a saved model: load a checkpoint, then trace
    queries       select a scope, one head, ancestors; collapse scopes into blocks
    replay        backward_frames: backward replayed as plain frame data
    block_frames  the same, block by block on a collapsed graph
    replay_views  (graph, frames) a backward animation steps through: an expression,
                  a head, a scope, the whole model in blocks
    names         readable names for unnamed nodes
    export        GraphML, GEXF and node-link JSON
    expression/   the expression language: parse (grammar) and evaluate (to Values)
"""
