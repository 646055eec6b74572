"""The front door: one route table for n8n 2.x (:mod:`.routes`) and the edges built from it (:mod:`.alb`,
:mod:`.gateway`), wired by the :class:`~n8n_platform.edge.component.Edge` component."""
