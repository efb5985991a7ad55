// Explorer: the ncurses application — state, actions, reactions, pure rendering, one terminal type.
