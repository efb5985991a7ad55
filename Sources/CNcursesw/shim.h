// ncursesw for Swift: the wide-character API, plus the macros and globals Swift cannot import as they are.
#ifndef DEEPSCOPE_CNCURSESW_SHIM_H
#define DEEPSCOPE_CNCURSESW_SHIM_H
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>
#include <ncursesw/term.h>

// stdin/stdout are C globals that Swift 6 treats as shared mutable state; newterm needs the FILE pointers.
static inline FILE *ds_stdout(void) { return stdout; }
static inline FILE *ds_stdin(void) { return stdin; }
// stdscr is a macro over a global in some builds; Swift sees neither reliably.
static inline WINDOW *ds_stdscr(void) { return stdscr; }
// getmaxyx is a macro that assigns to its arguments.
static inline void ds_getmaxyx(WINDOW *w, int *rows, int *cols) { int y, x; getmaxyx(w, y, x); *rows = y; *cols = x; }
// COLORS and COLOR_PAIRS are globals set by start_color; macros in the reentrant build.
static inline int ds_colors(void) { return COLORS; }
static inline int ds_color_pairs(void) { return COLOR_PAIRS; }
// Attribute macros expand to NCURSES_BITS shifts that Swift does not import.
static inline attr_t ds_a_bold(void) { return A_BOLD; }
static inline attr_t ds_a_reverse(void) { return A_REVERSE; }
static inline attr_t ds_a_dim(void) { return A_DIM; }
static inline attr_t ds_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ds_a_normal(void) { return A_NORMAL; }
// COLOR_PAIR is a macro.
static inline attr_t ds_color_pair(int n) { return COLOR_PAIR(n); }
// Key codes are macros; the ones the explorer binds.
static inline int ds_key_resize(void) { return KEY_RESIZE; }
static inline int ds_key_mouse(void) { return KEY_MOUSE; }
static inline int ds_key_left(void) { return KEY_LEFT; }
static inline int ds_key_right(void) { return KEY_RIGHT; }
static inline int ds_key_up(void) { return KEY_UP; }
static inline int ds_key_down(void) { return KEY_DOWN; }
static inline int ds_key_home(void) { return KEY_HOME; }
static inline int ds_key_end(void) { return KEY_END; }
static inline int ds_key_sleft(void) { return KEY_SLEFT; }
static inline int ds_key_sright(void) { return KEY_SRIGHT; }
static inline int ds_key_backspace(void) { return KEY_BACKSPACE; }
static inline int ds_key_enter(void) { return KEY_ENTER; }
static inline int ds_key_npage(void) { return KEY_NPAGE; }
static inline int ds_key_ppage(void) { return KEY_PPAGE; }
static inline int ds_err(void) { return ERR; }
// wget_wch's "this is a function key" result and the OK code are macros.
static inline int ds_key_code_yes(void) { return KEY_CODE_YES; }
static inline int ds_ok(void) { return OK; }
// curscr is a global (a macro in the reentrant build); clearok(curscr) forces a full repaint.
static inline WINDOW *ds_curscr(void) { return curscr; }
// Mouse masks are macros built from NCURSES_MOUSE_MASK.
static inline mmask_t ds_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t ds_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t ds_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t ds_all_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
#endif
