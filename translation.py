# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The zh_CN of Tryton's own modules, completed by locale/override/zh_CN.po.

Tryton applies an override only when it changes the text
(``ir.translation.translation_import``, ``override_translation``): where
the overridden module ships the right text but marks it fuzzy, the
translation stays fuzzy and the clients show the English.  After the import
of the module's files, such translations are confirmed here.
"""

import os

import polib

from trytond.pool import Pool, PoolMeta

# The types whose translations Tryton tells apart by their source text
BY_SOURCE = {'report', 'view', 'wizard_button', 'selection'}


class Translation(metaclass=PoolMeta):
    __name__ = 'ir.translation'

    @classmethod
    def translation_import(cls, lang, module, po_path):
        count = super().translation_import(lang, module, po_path)
        if module == 'sale_flow':
            paths = [po_path] if isinstance(po_path, str) else po_path
            cls._confirm_overrides(lang, module, [p for p in paths
                    if os.path.basename(os.path.dirname(p)) == 'override'])
        return count

    @classmethod
    def _confirm_overrides(cls, lang, module, paths):
        "Unmark the fuzzy translations that an override leaves unchanged"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        to_save = []
        for path in paths:
            for entry in polib.pofile(path):
                type_, name, res_id = entry.msgctxt.split(':')
                if entry.obsolete or '.' not in res_id:
                    continue
                other, fs_id = res_id.split('.')
                domain = [
                    ('lang', '=', lang),
                    ('module', '=', other),
                    ('type', '=', type_),
                    ('name', '=', name),
                    ('res_id', '=',
                        ModelData.get_id(other, fs_id) if fs_id else -1),
                    ('value', '=',
                        entry.msgstr_plural.get(0) if entry.msgid_plural
                        else entry.msgstr),
                    ('fuzzy', '=', True),
                    ]
                if type_ in BY_SOURCE:
                    domain.append(('src', '=', entry.msgid))
                for translation in cls.search(domain):
                    translation.fuzzy = False
                    translation.overriding_module = module
                    to_save.append(translation)
        cls.save(to_save)
