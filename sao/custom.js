/* This file is part of sale_flow.  The COPYRIGHT file at the top level of
   this repository contains the full copyright notices and license terms. */
/* Customisation of the sao web client (loaded by its index.html).

   sao 8.0's selection widget rebuilds its options on every display and
   puts the record's value back only in a later turn of the event loop
   (a jQuery promise); in between the <select> shows its first option.
   A dialog whose OK/Add is clicked right after another field was changed
   (the change redisplays the form) reads the widget in that moment and
   saves the first option (sorted by label: 当面 "In Person" in Chinese)
   instead of the value shown.  The record's value is put back at once. */
(function() {
    'use strict';
    if (!window.Sao || !Sao.View || !Sao.View.Form ||
            !Sao.View.Form.Selection) {
        return;
    }
    var set_selection = Sao.View.Form.Selection.prototype.set_selection;
    Sao.View.Form.Selection.prototype.set_selection = function(
            selection, help) {
        set_selection.call(this, selection, help);
        var record = this.record, field = this.field;
        if (record && field) {
            var value = JSON.stringify(field.get(record));
            var found = this.select.children('option').filter(
                function() {
                    return this.value === value;
                });
            if (found.length) {
                this.select.val(value);
            }
        }
    };
}());
