// Accessors for libyara's iteration macros and anonymous-union fields, which Swift cannot
// import. Written for YARA 4.2 (Debian libyara-dev).
#ifndef EXHUNT_CYARA_SHIM_H
#define EXHUNT_CYARA_SHIM_H
#include <yara.h>

static inline const char *exhunt_rule_identifier(const YR_RULE *r) { return r->identifier; }
static inline const char *exhunt_rule_namespace(const YR_RULE *r) { return r->ns->name; }
static inline const char *exhunt_rule_tags(const YR_RULE *r) { return r->tags; }

static inline const YR_META *exhunt_meta_first(const YR_RULE *r) { return r->metas; }
static inline const YR_META *exhunt_meta_next(const YR_META *m) { return META_IS_LAST_IN_RULE(m) ? NULL : m + 1; }
static inline const char *exhunt_meta_identifier(const YR_META *m) { return m->identifier; }
static inline const char *exhunt_meta_string(const YR_META *m) { return m->string; }
static inline int64_t exhunt_meta_integer(const YR_META *m) { return m->integer; }
static inline int32_t exhunt_meta_type(const YR_META *m) { return m->type; }

static inline YR_STRING *exhunt_string_first(const YR_RULE *r) { return r->strings; }
static inline YR_STRING *exhunt_string_next(YR_STRING *s) { return STRING_IS_LAST_IN_RULE(s) ? NULL : s + 1; }
static inline const char *exhunt_string_identifier(const YR_STRING *s) { return s->identifier; }

/// First match of a string that is not private, or NULL.
static inline YR_MATCH *exhunt_match_first(YR_SCAN_CONTEXT *c, const YR_STRING *s) {
    YR_MATCH *m = c->matches[s->idx].head;
    while (m != NULL && m->is_private) m = m->next;
    return m;
}
static inline YR_MATCH *exhunt_match_next(YR_MATCH *m) {
    m = m->next;
    while (m != NULL && m->is_private) m = m->next;
    return m;
}
static inline int exhunt_rules_count(YR_RULES *rules) {
    int n = 0;
    YR_RULE *rule;
    yr_rules_foreach(rules, rule) { n++; }
    return n;
}
#endif
