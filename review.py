# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Step 2 of the flow: order review (订单审核).

Submitting an order (Tryton's *Quote*) runs every check of the review and
records its findings; a reviewer records the contact with the customer,
overrides blocking findings with a reason, and approves, rejects or sends
the order back.  Approval is what allows confirmation, and it is bound to
the reviewed content: a later change voids it.

Checks are classmethods of sale.sale listed by ``_review_checks``; each
takes the list of sales and returns finding values, so that another module
adds a check by extending that list.
"""

import datetime as dt
import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import FlowAccessMixin, to_the_second
from .common import address_text, msg, render, transition
from .exceptions import ReviewError, RuleValidationError

SEVERITIES = [
    ('info', "Info"),
    ('warning', "Warning"),
    ('blocking', "Blocking"),
    ]
_SEVERITY_RANK = {None: 0, 'info': 1, 'warning': 2, 'blocking': 3}
CHECKS = [
    ('duplicate', "Duplicate"),
    ('policy', "Company Policy"),
    ('price', "Price"),
    ('customer', "Customer Data"),
    ('stock', "Stock"),
    ('credit', "Credit"),
    ]


def _same_address(a, b):
    """Whether the two addresses are the same place (for the duplicate
    check: street and city, whatever the postal code says)"""
    return bool(a and b) and all(
        address_text(getattr(a, name)) == address_text(getattr(b, name))
        for name in ['street', 'city']) and bool(address_text(a.street))


class Configuration(FlowAccessMixin, metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    review_required = fields.Selection([
            ('always', "Always"),
            ('amount', "From an Amount"),
            ('new_customer', "For New Customers"),
            ('never', "Never"),
            ], "Review Required",
        help="Which orders must be approved by a reviewer before they are "
        "confirmed.")
    review_amount = fields.Numeric(
        "Review from Amount", digits=(16, 2),
        states={
            'invisible': Eval('review_required') != 'amount',
            'required': Eval('review_required') == 'amount',
            },
        help="Orders with this untaxed amount or more, in the company's "
        "currency, need a review.")
    review_confirm = fields.Boolean(
        "Confirm on Approval",
        help="Approving an order also confirms it.")
    review_four_eyes = fields.Boolean(
        "Four Eyes",
        help="Nobody approves an order they entered.")
    review_reject_action = fields.Selection([
            ('draft', "Back to Draft"),
            ('cancel', "Cancel the Order"),
            ], "On Rejection")
    duplicate_window = fields.TimeDelta(
        "Duplicate Window",
        help="Orders entered within this time of each other are compared.")
    duplicate_threshold = fields.Integer(
        "Duplicate Score",
        domain=[('duplicate_threshold', '>=', 1),
            ('duplicate_threshold', '<=', 100)],
        help="The score (1-100) from which a similar order is reported.")
    price_tolerance = fields.Float(
        "Price Tolerance", digits=(1, 4),
        domain=[('price_tolerance', '>=', 0), ('price_tolerance', '<=', 1)],
        help="A unit price below the list price by more than this rate "
        "is reported as a warning.")
    discount_limit = fields.Float(
        "Discount Limit", digits=(1, 4),
        domain=[('discount_limit', '>=', 0), ('discount_limit', '<=', 1)],
        help="A discount on the list price above this rate blocks the "
        "order.")
    require_phone = fields.Boolean(
        "Require Phone", help="A customer without phone blocks the order.")
    require_tax_identifier = fields.Boolean(
        "Require Tax Identifier",
        help="A customer without tax identifier blocks the order.")

    @classmethod
    def default_review_required(cls):
        return 'always'

    @classmethod
    def default_review_confirm(cls):
        return True

    @classmethod
    def default_review_four_eyes(cls):
        return False

    @classmethod
    def default_review_reject_action(cls):
        return 'draft'

    @classmethod
    def default_duplicate_window(cls):
        return dt.timedelta(days=3)

    @classmethod
    def default_duplicate_threshold(cls):
        return 60

    @classmethod
    def default_price_tolerance(cls):
        return 0.05

    @classmethod
    def default_discount_limit(cls):
        return 0.2

    @classmethod
    def default_require_phone(cls):
        return False

    @classmethod
    def default_require_tax_identifier(cls):
        return False


class Rule(FlowAccessMixin, DeactivableMixin, sequence_ordered(), ModelSQL,
        ModelView):
    "Review policy rule: the conditions under which an order is reported"
    __name__ = 'sale.flow.review.rule'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    level = fields.Selection([
            ('order', "Order"),
            ('line', "Line"),
            ], "Applies To", required=True)
    severity = fields.Selection(SEVERITIES, "Severity", required=True)
    explanation = fields.Text(
        "Explanation", translate=True,
        help="What the reviewer reads on the finding.")
    amount_above = fields.Numeric(
        "Order Amount Above", digits=(16, 2),
        help="The untaxed amount of the order, in the company's currency, "
        "is above this amount.")
    quantity_above = fields.Float(
        "Line Quantity Above",
        states={'invisible': Eval('level') != 'line'},
        help="The quantity of the line is above this quantity.")
    new_customer = fields.Boolean(
        "New Customer",
        help="The customer has no confirmed order yet.")
    customer_categories = fields.Many2Many(
        'sale.flow.review.rule-party.category', 'rule', 'category',
        "Customer Categories",
        help="The customer is in one of these categories.")
    product_categories = fields.Many2Many(
        'sale.flow.review.rule-product.category', 'rule', 'category',
        "Product Categories",
        states={'invisible': Eval('level') != 'line'},
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The product of the line is in one of these categories.")
    payment_terms = fields.Many2Many(
        'sale.flow.review.rule-account.invoice.payment_term', 'rule',
        'payment_term', "Allowed Payment Terms",
        states={'invisible': Eval('level') != 'order'},
        help="The payment term of the order is not one of these.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_level(cls):
        return 'order'

    @classmethod
    def default_severity(cls):
        return 'warning'

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        for rule in rules:
            conditions = [
                rule.amount_above is not None,
                rule.new_customer,
                bool(rule.customer_categories),
                ]
            if rule.level == 'line':
                conditions += [
                    rule.quantity_above is not None,
                    bool(rule.product_categories)]
            else:
                conditions.append(bool(rule.payment_terms))
            if not any(conditions):
                raise RuleValidationError(gettext(
                        'sale_flow.msg_rule_no_condition', rule=rule.rec_name))

    def match_order(self, sale, new_customers):
        "Whether the order-level conditions hold for the sale"
        if (self.amount_above is not None
                and not sale.review_company_amount > self.amount_above):
            return False
        if self.new_customer and sale.party.id not in new_customers:
            return False
        if self.customer_categories:
            categories = {c.id for c in self.customer_categories}
            party_categories = set()
            for category in sale.party.categories:
                while category:
                    party_categories.add(category.id)
                    category = category.parent
            if not (categories & party_categories):
                return False
        if self.level == 'order' and self.payment_terms:
            if sale.payment_term in self.payment_terms:
                return False
        return True

    def match_line(self, line):
        "Whether the line-level conditions hold for the line"
        if (self.quantity_above is not None
                and not (line.quantity or 0) > self.quantity_above):
            return False
        if self.product_categories:
            if not line.product:
                return False
            categories = {c.id for c in self.product_categories}
            if not categories & {
                    c.id for c in line.product.categories_all}:
                return False
        return True


class RulePartyCategory(FlowAccessMixin, ModelSQL):
    "Review Rule - Customer Category"
    __name__ = 'sale.flow.review.rule-party.category'
    rule = fields.Many2One(
        'sale.flow.review.rule', "Rule", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'party.category', "Category", required=True, ondelete='CASCADE')


class RuleProductCategory(FlowAccessMixin, ModelSQL):
    "Review Rule - Product Category"
    __name__ = 'sale.flow.review.rule-product.category'
    rule = fields.Many2One(
        'sale.flow.review.rule', "Rule", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'product.category', "Category", required=True, ondelete='CASCADE')


class RulePaymentTerm(FlowAccessMixin, ModelSQL):
    "Review Rule - Payment Term"
    __name__ = 'sale.flow.review.rule-account.invoice.payment_term'
    rule = fields.Many2One(
        'sale.flow.review.rule', "Rule", required=True, ondelete='CASCADE')
    payment_term = fields.Many2One(
        'account.invoice.payment_term', "Payment Term", required=True,
        ondelete='CASCADE')


class Finding(FlowAccessMixin, ModelSQL, ModelView):
    "Review finding: what a check found on an order"
    __name__ = 'sale.flow.review.finding'
    # made by the checks; only the reason of an override is typed
    _flow_external = {'write'}

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE',
        readonly=True)
    line = fields.Many2One(
        'sale.line', "Line", ondelete='CASCADE', readonly=True)
    check = fields.Selection(CHECKS, "Check", readonly=True, sort=False)
    severity = fields.Selection(SEVERITIES, "Severity", readonly=True)
    message = fields.Function(
        fields.Char("Explanation"), 'get_message')
    message_data = fields.Text(
        "Message Data", readonly=True,
        help="The message and its values, shown in the reader's language.")
    key = fields.Char("Key", readonly=True)
    other_sale = fields.Many2One(
        'sale.sale', "Other Order", readonly=True, ondelete='SET NULL',
        help="The order this one may duplicate.")
    score = fields.Integer("Score", readonly=True)
    rule = fields.Many2One(
        'sale.flow.review.rule', "Rule", readonly=True, ondelete='SET NULL')
    found_at = to_the_second(fields.Timestamp("Found at", readonly=True))
    state = fields.Selection([
            ('open', "Open"),
            ('overridden', "Overridden"),
            ('resolved', "Resolved"),
            ], "State", readonly=True, sort=False)
    override_reason = fields.Text(
        "Override Reason",
        states={
            'readonly': Eval('state') != 'open',
            'invisible': (Eval('severity') != 'blocking'),
            })
    overridden_by = fields.Many2One('res.user', "Overridden by", readonly=True)
    overridden_at = to_the_second(
        fields.Timestamp("Overridden at", readonly=True))
    resolved_at = to_the_second(
        fields.Timestamp("Resolved at", readonly=True))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.sale, Index.Range()), (t.state, Index.Equality())))
        cls._order = [('sale', 'DESC'), ('found_at', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'override': {
                    'invisible': ((Eval('state') != 'open')
                        | (Eval('severity') != 'blocking')
                        | (Eval('check') == 'stock')),
                    'depends': ['state', 'severity', 'check'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'open'

    def get_message(self, name):
        if self.message_data:
            return render(json.loads(self.message_data))
        return ''

    def get_rec_name(self, name):
        return self.message or ''

    @classmethod
    @ModelView.button
    def override(cls, findings):
        "Accept the blocking findings: the reviewer takes responsibility"
        for finding in findings:
            if finding.check == 'stock':
                # a shortage is settled by a decision with the customer
                raise ReviewError(gettext(
                        'sale_flow.msg_finding_override_stock',
                        finding=finding.rec_name))
            if finding.state != 'open' or finding.severity != 'blocking':
                raise ReviewError(gettext(
                        'sale_flow.msg_finding_override_state',
                        finding=finding.rec_name))
            if not (finding.override_reason or '').strip():
                raise ReviewError(gettext(
                        'sale_flow.msg_finding_override_reason',
                        finding=finding.rec_name))
        cls.write(findings, {
                'state': 'overridden',
                'overridden_by': Transaction().user,
                'overridden_at': dt.datetime.now(),
                })


class Contact(FlowAccessMixin, ModelSQL, ModelView):
    "Review contact: the reviewer's confirmation with the customer"
    __name__ = 'sale.flow.review.contact'

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE')
    contacted_at = fields.DateTime("Contacted at", required=True)
    user = fields.Many2One('res.user', "Reviewer", readonly=True)
    contact_name = fields.Char(
        "Contact", required=True,
        help="The person of the customer who was contacted.")
    method = fields.Selection([
            ('phone', "Phone"),
            ('email', "E-mail"),
            ('chat', "Chat"),
            ('in_person', "In Person"),
            ('other', "Other"),
            ], "Method", required=True)
    answer = fields.Text("Customer's Answer", required=True)
    changes = fields.Text(
        "Changes to the Order",
        help="What was changed on the order after the contact.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('contacted_at', 'DESC'), ('id', 'DESC')]
        # Tryton marks default_get cacheable for 5 minutes and the clients
        # keep its answer: each new contact would get the time the first
        # dialog was opened.  The defaults are asked each time.
        cls.__rpc__['default_get'] = RPC()

    @classmethod
    def default_contacted_at(cls):
        return dt.datetime.now()

    @classmethod
    def default_method(cls):
        return 'phone'

    @classmethod
    def default_user(cls):
        return Transaction().user

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            # The contact is recorded by whom it is
            values['user'] = Transaction().user
        return values

    @classmethod
    def check_modification(cls, mode, contacts, values=None, external=False):
        super().check_modification(
            mode, contacts, values=values, external=external)
        if mode in {'write', 'delete'}:
            for contact in contacts:
                if contact.sale.state not in {'draft', 'quotation'}:
                    raise ReviewError(gettext(
                            'sale_flow.msg_contact_modify_state',
                            sale=contact.sale.rec_name))


class Decision(FlowAccessMixin, ModelSQL, ModelView):
    "Review decision: submission, approval, rejection, return, voiding"
    __name__ = 'sale.flow.review.decision'
    _flow_external = set()

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='CASCADE',
        readonly=True)
    decision = fields.Selection([
            ('submitted', "Submitted"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('sent_back', "Sent Back"),
            ('voided', "Approval Voided"),
            ], "Decision", readonly=True)
    decision_string = decision.translated('decision')
    reason = fields.Text("Reason", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    decided_at = to_the_second(fields.Timestamp("At", readonly=True))
    digest = fields.Char(
        "Digest", readonly=True,
        help="The fingerprint of the order's content at that moment.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('decided_at', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        # the decision and its order (it has no name of its own)
        return '%s %s' % (self.decision_string, self.sale.rec_name)


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    review_state = fields.Selection([
            (None, ""),
            ('not_required', "Not Required"),
            ('to_review', "To Review"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ], "Review State", readonly=True,
        help="Where the order is in the review.")
    review_submitted_at = to_the_second(fields.Timestamp(
            "Submitted for Review", readonly=True))
    review_digest = fields.Char(
        "Reviewed Digest", readonly=True,
        help="The fingerprint of the order's content when it was submitted "
        "or approved; a change voids the approval.")
    review_findings = fields.One2Many(
        'sale.flow.review.finding', 'sale', "Findings", readonly=True)
    review_contacts = fields.One2Many(
        'sale.flow.review.contact', 'sale', "Customer Contacts",
        states={'readonly': ~Eval('state').in_(['draft', 'quotation'])})
    review_decisions = fields.One2Many(
        'sale.flow.review.decision', 'sale', "Review History",
        readonly=True)
    review_severity = fields.Function(fields.Selection(
            [(None, "")] + SEVERITIES, "Worst Finding"),
        'get_review_severity', searcher='search_review_severity')
    review_age = fields.Function(
        fields.TimeDelta("Waiting"), 'get_review_age')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.review_state, Index.Equality()),
                    where=t.review_state == 'to_review'),
                })
        cls._buttons.update({
                'review_check': {
                    'invisible': ~Eval('state').in_(['draft', 'quotation']),
                    'depends': ['state'],
                    },
                'review_approve': {
                    'invisible': ((Eval('state') != 'quotation')
                        | ~Eval('review_state').in_(['to_review'])),
                    'depends': ['state', 'review_state'],
                    },
                'review_decide': {
                    'invisible': ((Eval('state') != 'quotation')
                        | ~Eval('review_state').in_(
                            ['to_review', 'approved'])),
                    'depends': ['state', 'review_state'],
                    },
                })

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        super().check_modification(
            mode, sales, values=values, external=external)
        if mode == 'delete':
            cls.check_flow_records(sales)

    @classmethod
    def check_flow_records(cls, sales):
        """Refuse to delete orders whose flow left records (decisions,
        findings, contacts, stock checks...): they are kept, as Tryton keeps
        posted documents"""
        pool = Pool()
        for model in cls._flow_record_models():
            Model = pool.get(model)
            with without_check_access():
                records = Model.search(
                    [('sale', 'in', [s.id for s in sales])], limit=1)
            if records:
                raise AccessError(gettext(
                        'sale_flow.msg_sale_delete_flow_records',
                        sale=records[0].sale.rec_name,
                        model=pool.get('ir.model').get_name(model)))

    @classmethod
    def _flow_record_models(cls):
        "The models of the flow's records of an order (with a sale field)"
        return [
            'sale.flow.review.decision',
            'sale.flow.review.finding',
            'sale.flow.review.contact',
            'sale.flow.stock.check',
            'sale.flow.stock.line',
            'sale.flow.stock.decision',
            ]

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        for field in ['review_state', 'review_submitted_at', 'review_digest',
                'review_findings', 'review_contacts', 'review_decisions']:
            default.setdefault(field, None)
        return super().copy(sales, default=default)

    @classmethod
    def get_review_severity(cls, sales, name):
        pool = Pool()
        Finding = pool.get('sale.flow.review.finding')
        result = {s.id: None for s in sales}
        for finding in Finding.search([
                    ('sale', 'in', [s.id for s in sales]),
                    ('state', '=', 'open'),
                    ]):
            current = result[finding.sale.id]
            if (_SEVERITY_RANK[finding.severity]
                    > _SEVERITY_RANK[current]):
                result[finding.sale.id] = finding.severity
        return result

    @classmethod
    def search_review_severity(cls, name, clause):
        _, operator, value = clause[:3]
        if operator not in {'=', 'in'}:
            return [('id', '=', -1)]
        values = value if operator == 'in' else [value]
        ranks = [_SEVERITY_RANK[v] for v in values]
        domain = ['OR']
        for severity, rank in _SEVERITY_RANK.items():
            if rank in ranks:
                worse = [s for s, r in _SEVERITY_RANK.items()
                    if s and r > rank]
                if severity is None:
                    domain.append([('review_findings', 'not where', [
                                    ('state', '=', 'open')])])
                else:
                    domain.append([
                            ('review_findings', 'where', [
                                    ('state', '=', 'open'),
                                    ('severity', '=', severity)]),
                            ('review_findings', 'not where', [
                                    ('state', '=', 'open'),
                                    ('severity', 'in', worse)]),
                            ])
        return domain

    def get_review_age(self, name):
        if self.review_state == 'to_review' and self.review_submitted_at:
            age = dt.datetime.now() - self.review_submitted_at
            return dt.timedelta(seconds=int(age.total_seconds()))

    # Digest of what the review looked at

    def get_review_digest(self):
        "Fingerprint of the customer, addresses and lines of the order"
        def address(a):
            return [a.id, a.street, a.postal_code, a.city,
                a.country.code if a.country else None] if a else None
        content = {
            'party': self.party.id if self.party else None,
            'invoice_address': address(self.invoice_address),
            'shipment_address': address(self.shipment_address),
            'currency': self.currency.id if self.currency else None,
            'payment_term': (
                self.payment_term.id if self.payment_term else None),
            'lines': sorted(
                [l.type, l.product.id if l.product else None,
                    str(l.quantity), l.unit.id if l.unit else None,
                    str(l.unit_price)] for l in self.lines),
            }
        return hashlib.sha256(json.dumps(
                content, sort_keys=True, default=str).encode()).hexdigest()

    # The workflow

    @classmethod
    @ModelView.button
    @transition('quotation')
    def quote(cls, sales):
        super().quote(sales)
        cls.review_submit(sales)

    @classmethod
    @ModelView.button
    @transition('confirmed')
    def confirm(cls, sales):
        cls.check_review(sales)
        super().confirm(sales)

    @classmethod
    def review_submit(cls, sales):
        "Submit the sales to the review: run the checks, void old approvals"
        pool = Pool()
        Decision = pool.get('sale.flow.review.decision')
        Config = pool.get('sale.configuration')
        config = Config(1)
        # checked, then submitted: the checks (the stock check among them)
        # come before the decisions, in the timeline too
        cls.review_run_checks(sales)
        now = dt.datetime.now()
        user = Transaction().user
        required = cls._review_required(sales, config)
        decisions, to_write = [], []
        for sale in sales:
            digest = sale.get_review_digest()
            if (sale.review_state == 'approved'
                    and sale.review_digest == digest):
                continue
            if sale.review_state == 'approved':
                decisions.append(Decision(
                        sale=sale, decision='voided', user=user,
                        decided_at=now, digest=digest))
            state = 'to_review' if sale in required else 'not_required'
            decisions.append(Decision(
                    sale=sale, decision='submitted', user=user,
                    decided_at=now, digest=digest))
            to_write.extend(([sale], {
                        'review_state': state,
                        'review_submitted_at': now,
                        'review_digest': digest,
                        }))
        if to_write:
            cls.write(*to_write)
        with without_check_access():
            Decision.save(decisions)

    @property
    def review_company_amount(self):
        """The untaxed amount of the order in the company's currency (the
        review's thresholds are in it), at the rate of the order's date"""
        pool = Pool()
        Currency = pool.get('currency.currency')
        Date = pool.get('ir.date')
        amount = self.untaxed_amount or Decimal(0)
        company_currency = self.company.currency
        if not self.currency or self.currency == company_currency:
            return amount
        with Transaction().set_context(
                date=self.sale_date or Date.today()):
            return Currency.compute(self.currency, amount, company_currency)

    @classmethod
    def _review_required(cls, sales, config):
        "The sales that need a reviewer's approval"
        if config.review_required == 'never':
            return set()
        elif config.review_required == 'amount':
            return {s for s in sales
                if s.review_company_amount >= (config.review_amount or 0)}
        elif config.review_required == 'new_customer':
            known = cls._review_known_customers(sales)
            return {s for s in sales if s.party.id not in known}
        return set(sales)

    @classmethod
    def _review_known_customers(cls, sales):
        "The customers of the sales that already have a confirmed order"
        parties = list({s.party.id for s in sales})
        return {s.party.id for s in cls.search([
                    ('party', 'in', parties),
                    ('state', 'in', ['confirmed', 'processing', 'done']),
                    ('id', 'not in', [s.id for s in sales]),
                    ])}

    @classmethod
    def check_review(cls, sales):
        "Refuse to confirm sales without a valid approval"
        for sale in sales:
            if sale.review_state in {'approved', 'not_required'}:
                if sale.review_digest != sale.get_review_digest():
                    raise ReviewError(gettext(
                            'sale_flow.msg_sale_review_changed',
                            sale=sale.rec_name))
            else:
                # never submitted (None), to review or rejected
                raise ReviewError(gettext(
                        'sale_flow.msg_sale_review_not_approved',
                        sale=sale.rec_name))

    @classmethod
    @ModelView.button
    def review_check(cls, sales):
        "Run the review checks again"
        cls.review_run_checks(sales)

    @classmethod
    def _review_checks(cls):
        "The names of the check methods; extend to add a check"
        return [
            '_review_check_duplicate',
            '_review_check_policy',
            '_review_check_price',
            '_review_check_customer',
            ]

    @classmethod
    def review_run_checks(cls, sales, _others=True):
        """Run every check on the sales and record the findings

        The orders found as duplicates that wait for review are checked
        again too, so that both orders name each other."""
        pool = Pool()
        Finding = pool.get('sale.flow.review.finding')
        Config = pool.get('sale.configuration')
        config = Config(1)
        sales = cls.browse(sales)
        found = []
        for name in cls._review_checks():
            found.extend(getattr(cls, name)(sales, config))

        now = dt.datetime.now()
        existing = {(f.sale.id, f.key): f for f in Finding.search([
                    ('sale', 'in', [s.id for s in sales]),
                    ])}
        seen, to_save = set(), []
        for values in found:
            key = (values['sale'].id, values['key'])
            if key in seen:
                continue
            seen.add(key)
            finding = existing.get(key)
            if finding:
                if finding.state == 'resolved':
                    finding.state = 'open'
                    finding.resolved_at = None
                    finding.found_at = now
                finding.message_data = values['message_data']
                finding.severity = values['severity']
                finding.score = values.get('score')
            else:
                finding = Finding(found_at=now, **values)
            to_save.append(finding)
        for key, finding in existing.items():
            if key not in seen and finding.state != 'resolved':
                finding.state = 'resolved'
                finding.resolved_at = now
                to_save.append(finding)
        with without_check_access():
            Finding.save(to_save)
        if _others:
            others = {v['other_sale'] for v in found
                if v['check'] == 'duplicate'
                and v['other_sale'].review_state == 'to_review'} - set(sales)
            if others:
                cls.review_run_checks(list(others), _others=False)

    @classmethod
    def _finding(cls, sale, check, severity, key, message, **values):
        "Finding values; message is built with msg() to be shown translated"
        values.update({
                'sale': sale, 'check': check, 'severity': severity,
                'key': key, 'message_data': json.dumps(message),
                })
        return values

    @classmethod
    def _review_check_duplicate(cls, sales, config):
        "Orders of the same customer (or phone) with similar lines"
        window = config.duplicate_window or dt.timedelta(days=3)
        threshold = config.duplicate_threshold or 60
        if not sales:
            return []
        now = dt.datetime.now()
        dates = [s.create_date or now for s in sales]
        related = cls._duplicate_related_parties({s.party.id for s in sales})
        all_parties = set()
        for sale in sales:
            all_parties |= {sale.party.id} | related[sale.party.id]
        # The candidates and their goods are read as rows: instantiating
        # the thousands of orders and lines of a window costs more than
        # comparing them (trytond checks every id of the list each record
        # is made from)
        candidates, quantities = cls._duplicate_candidates([
                ('party', 'in', list(all_parties)),
                ('create_date', '>=', min(dates) - window),
                ('create_date', '<=', max(dates) + window),
                ('state', '!=', 'cancelled'),
                ], [s.id for s in sales])
        by_party = defaultdict(list)
        for candidate in candidates:
            by_party[candidate['party']].append(candidate)

        pairs = []
        for sale in sales:
            created = sale.create_date or now
            mine = quantities[sale.id]
            party_ids = {sale.party.id} | related[sale.party.id]
            for party_id in party_ids:
                for other in by_party[party_id]:
                    if other['id'] == sale.id:
                        continue
                    other_created = other['create_date'] or now
                    if abs(other_created - created) > window:
                        continue
                    same_party = other['party'] == sale.party.id
                    certain = bool(same_party and sale.intake_reference
                        and other['intake_reference']
                        == sale.intake_reference)
                    if not certain:
                        score = cls._duplicate_score(
                            mine, quantities[other['id']], same_party)
                        if score is None or score < threshold:
                            continue
                    pairs.append((sale, other, same_party, certain))
        # the orders named by a finding are read once, all together
        others = {o.id: o for o in cls.browse(
                list({other['id'] for _, other, _, _ in pairs}))}

        findings = []
        for sale, other, same_party, certain in pairs:
            created = sale.create_date or now
            other_created = other['create_date'] or now
            other = others[other['id']]
            if not same_party and not _same_address(
                    sale.shipment_address, other.shipment_address):
                # another customer: phone and address must match
                continue
            if certain:
                score = 100
                reason = msg(
                    'sale_flow.msg_duplicate_same_reference',
                    reference=sale.intake_reference)
            else:
                score, reason = cls._duplicate_similarity(
                    sale, other, quantities[sale.id], quantities[other.id],
                    same_party, abs(other_created - created))
            findings.append(cls._finding(
                    sale, 'duplicate',
                    'blocking' if certain else 'warning',
                    'duplicate:%s' % other.id,
                    msg('sale_flow.msg_finding_duplicate',
                        other=other.rec_name, score=score,
                        reason=reason),
                    other_sale=other, score=score))
        return findings

    @classmethod
    def _duplicate_candidates(cls, domain, sale_ids):
        """The orders of the domain as rows (id, party, create_date,
        intake_reference; by creation) and the quantity per goods product
        of those orders and of the sale_ids"""
        pool = Pool()
        Line = pool.get('sale.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        cursor = Transaction().connection.cursor()
        sale = cls.__table__()
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        query = cls.search(domain, order=[], query=True)
        cursor.execute(*sale.select(
                sale.id, sale.party, sale.create_date, sale.intake_reference,
                where=sale.id.in_(query),
                order_by=[sale.create_date.asc, sale.id.asc]))
        candidates = [dict(zip(
                    ['id', 'party', 'create_date', 'intake_reference'], row))
            for row in cursor]
        quantities = defaultdict(lambda: defaultdict(float))
        ids = sorted({c['id'] for c in candidates} | set(sale_ids))
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.join(product,
                    condition=line.product == product.id
                    ).join(template,
                    condition=product.template == template.id
                    ).select(line.sale, line.product, line.quantity,
                    where=fields.SQL_OPERATORS['in'](line.sale, list(sub_ids))
                    & (line.type == 'line')
                    & (template.type != 'service'),
                    order_by=[line.id.asc]))
            for sale_id, product_id, quantity in cursor:
                quantities[sale_id][product_id] += quantity or 0
        return candidates, quantities

    @classmethod
    def _duplicate_related_parties(cls, parties):
        """The other customers sharing a phone with each of the parties
        (a set of party ids per party id)"""
        Mechanism = Pool().get('party.contact_mechanism')
        phone_types = ['phone', 'mobile']
        phones = defaultdict(set)
        for mechanism in Mechanism.search([
                    ('party', 'in', list(parties)),
                    ('type', 'in', phone_types),
                    ]):
            if mechanism.value_compact:
                phones[mechanism.value_compact].add(mechanism.party.id)
        if phones:
            for mechanism in Mechanism.search([
                        ('value_compact', 'in', list(phones)),
                        ('type', 'in', phone_types),
                        ]):
                phones[mechanism.value_compact].add(mechanism.party.id)
        related = defaultdict(set)
        for party_ids in phones.values():
            for party_id in party_ids:
                related[party_id] |= party_ids
        return related

    @staticmethod
    def _duplicate_score(mine, theirs, same_party):
        """The score (0 to 100) of two orders' goods being alike, from their
        quantities per product; None without a product in common"""
        if not mine or not theirs:
            return None
        common = set(mine) & set(theirs)
        if not common:
            return None
        similarity = sum(
            min(mine[p], theirs[p]) / max(mine[p], theirs[p])
            for p in common) / max(len(mine), len(theirs))
        return round(100 * similarity * (1 if same_party else 0.9))

    @classmethod
    def _duplicate_similarity(
            cls, sale, other, mine, theirs, same_party, apart):
        """The score (0 to 100) and reason of two orders' goods being alike,
        from their quantities per product; no score without a product in
        common"""
        score = cls._duplicate_score(mine, theirs, same_party)
        if score is None:
            return None, None
        common = set(mine) & set(theirs)
        reason = msg(
            'sale_flow.msg_duplicate_similar',
            who=msg(
                'sale_flow.msg_duplicate_same_customer'
                if same_party else
                'sale_flow.msg_duplicate_same_phone'),
            common=len(common),
            total=max(len(mine), len(theirs)),
            hours='%.1f' % (apart.total_seconds() / 3600),
            channel={'__channel__': other.channel})
        return score, reason

    @classmethod
    def _review_check_policy(cls, sales, config):
        "The company's policy rules"
        pool = Pool()
        Rule = pool.get('sale.flow.review.rule')
        rules = Rule.search([
                ('company', 'in', list({s.company.id for s in sales})),
                ])
        if not rules:
            return []
        new_customers = {s.party.id for s in sales} - (
            cls._review_known_customers(sales)
            if any(r.new_customer for r in rules) else set())
        findings = []
        for sale in sales:
            for rule in rules:
                if rule.company != sale.company:
                    continue
                if not rule.match_order(sale, new_customers):
                    continue
                explanation = rule.explanation or rule.name
                if rule.level == 'order':
                    findings.append(cls._finding(
                            sale, 'policy', rule.severity,
                            'policy:%s' % rule.id,
                            msg('sale_flow.msg_finding_policy',
                                rule=rule.name, explanation=explanation),
                            rule=rule))
                    continue
                for line in sale.lines:
                    if line.type == 'line' and rule.match_line(line):
                        findings.append(cls._finding(
                                sale, 'policy', rule.severity,
                                'policy:%s:%s' % (rule.id, line.id),
                                msg('sale_flow.msg_finding_policy_line',
                                    rule=rule.name, line=line.rec_name,
                                    explanation=explanation),
                                rule=rule, line=line))
        return findings

    @classmethod
    def _review_check_price(cls, sales, config):
        "Prices below cost, below the list price or discounts over the limit"
        pool = Pool()
        Uom = pool.get('product.uom')
        Currency = pool.get('currency.currency')
        tolerance = Decimal(str(config.price_tolerance or 0))
        limit = Decimal(str(
                config.discount_limit if config.discount_limit is not None
                else 1))
        findings = []
        for sale in sales:
            company_currency = sale.company.currency
            for line in sale.lines:
                if (line.type != 'line' or not line.product
                        or line.unit_price is None):
                    continue
                product = line.product

                def in_sale(price):
                    price = Uom.compute_price(
                        product.default_uom, price, line.unit)
                    if sale.currency != company_currency:
                        price = Currency.compute(
                            company_currency, price, sale.currency,
                            round=False)
                    return price
                cost = in_sale(product.cost_price or 0)
                list_price = in_sale(product.list_price_used or 0)
                price = line.unit_price
                if price < cost:
                    findings.append(cls._finding(
                            sale, 'price', 'blocking',
                            'price:cost:%s' % line.id,
                            msg('sale_flow.msg_finding_below_cost',
                                line=line.rec_name, price=price,
                                cost=round(cost, 4)),
                            line=line))
                elif list_price and price < list_price:
                    discount = 1 - price / list_price
                    percent = '%.1f' % (discount * 100)
                    if discount > limit:
                        findings.append(cls._finding(
                                sale, 'price', 'blocking',
                                'price:discount:%s' % line.id,
                                msg('sale_flow.msg_finding_discount',
                                    line=line.rec_name, discount=percent,
                                    limit='%.1f' % (limit * 100)),
                                line=line))
                    elif discount > tolerance:
                        findings.append(cls._finding(
                                sale, 'price', 'warning',
                                'price:list:%s' % line.id,
                                msg('sale_flow.msg_finding_below_list',
                                    line=line.rec_name, price=price,
                                    list_price=round(list_price, 4),
                                    discount=percent),
                                line=line))
        return findings

    @classmethod
    def _review_check_customer(cls, sales, config):
        "Incomplete customer data: delivery address, phone, tax identifier"
        findings = []
        for sale in sales:
            party = sale.party
            goods = any(l.type == 'line' and l.product
                and l.product.type != 'service' for l in sale.lines)
            address = sale.shipment_address
            if goods and (not address or not address.street
                    or not address.city):
                findings.append(cls._finding(
                        sale, 'customer', 'blocking', 'customer:address',
                        msg('sale_flow.msg_finding_no_address',
                            party=party.rec_name)))
            if not any(m.type in {'phone', 'mobile'}
                    for m in party.contact_mechanisms):
                findings.append(cls._finding(
                        sale, 'customer',
                        'blocking' if config.require_phone else 'warning',
                        'customer:phone',
                        msg('sale_flow.msg_finding_no_phone',
                            party=party.rec_name)))
            if not sale.contact:
                findings.append(cls._finding(
                        sale, 'customer', 'info', 'customer:contact',
                        msg('sale_flow.msg_finding_no_contact',
                            party=party.rec_name)))
            if config.require_tax_identifier and not party.tax_identifier:
                findings.append(cls._finding(
                        sale, 'customer', 'blocking', 'customer:tax',
                        msg('sale_flow.msg_finding_no_tax_identifier',
                            party=party.rec_name)))
        return findings

    @classmethod
    @ModelView.button
    def review_approve(cls, sales):
        "Approve the orders where nothing blocks (and confirm them)"
        pool = Pool()
        Decision = pool.get('sale.flow.review.decision')
        Config = pool.get('sale.configuration')
        config = Config(1)
        user = Transaction().user
        if not sales:
            return
        for sale in sales:
            if sale.state != 'quotation' or sale.review_state != 'to_review':
                raise ReviewError(gettext(
                        'sale_flow.msg_sale_review_not_to_review',
                        sale=sale.rec_name))
            if config.review_four_eyes and sale.create_uid.id == user:
                raise ReviewError(gettext(
                        'sale_flow.msg_sale_review_four_eyes',
                        sale=sale.rec_name))
        cls.review_run_checks(sales)
        sales = cls.browse(sales)
        blocked = {s: [f for f in s.review_findings
                if f.state == 'open' and f.severity == 'blocking']
            for s in sales}
        approved = [s for s in sales if not blocked[s]]
        if not approved:
            sale = sales[0]
            raise ReviewError(gettext(
                    'sale_flow.msg_sale_review_blocked',
                    sale=sale.rec_name,
                    findings='; '.join(f.message for f in blocked[sale])))
        now = dt.datetime.now()
        to_write, decisions = [], []
        for sale in approved:
            digest = sale.get_review_digest()
            to_write.extend(([sale], {
                        'review_state': 'approved',
                        'review_digest': digest,
                        }))
            decisions.append(Decision(
                    sale=sale, decision='approved', user=user,
                    decided_at=now, digest=digest))
        cls.write(*to_write)
        with without_check_access():
            Decision.save(decisions)
        if config.review_confirm:
            cls.confirm(approved)

    @classmethod
    @ModelView.button_action('sale_flow.wizard_review_decide')
    def review_decide(cls, sales):
        "Reject the orders or send them back to the clerk, with a reason"
        pass

    @classmethod
    def review_reject(cls, sales, decision, reason):
        "Record the decision and move the orders as configured"
        pool = Pool()
        Decision = pool.get('sale.flow.review.decision')
        Config = pool.get('sale.configuration')
        config = Config(1)
        if decision not in {'rejected', 'sent_back'}:
            raise ValueError(decision)
        if not (reason or '').strip():
            raise ReviewError(gettext('sale_flow.msg_review_reason_required'))
        for sale in sales:
            if sale.state != 'quotation' or sale.review_state not in {
                    'to_review', 'approved'}:
                raise ReviewError(gettext(
                        'sale_flow.msg_sale_review_not_to_review',
                        sale=sale.rec_name))
        now = dt.datetime.now()
        user = Transaction().user
        with without_check_access():
            Decision.save([Decision(
                        sale=s, decision=decision, reason=reason,
                        user=user, decided_at=now,
                        digest=s.get_review_digest()) for s in sales])
        cls.write(list(sales), {
                'review_state': (
                    'rejected' if decision == 'rejected' else None),
                'review_digest': None,
                })
        if decision == 'rejected' and config.review_reject_action == 'cancel':
            cls.cancel(sales)
        else:
            cls.draft(sales)


class ReviewDecide(Wizard):
    "Reject an order or send it back to the clerk"
    __name__ = 'sale.flow.review.decide'

    start = StateView(
        'sale.flow.review.decide.start',
        'sale_flow.review_decide_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("OK", 'decide', 'tryton-ok', default=True),
            ])
    decide = StateTransition()

    def default_start(self, fields):
        return {'decision': 'sent_back'}

    def transition_decide(self):
        self.model.review_reject(
            self.records, self.start.decision, self.start.reason)
        return 'end'


class ReviewDecideStart(ModelView):
    "Reject an order or send it back to the clerk"
    __name__ = 'sale.flow.review.decide.start'

    decision = fields.Selection([
            ('sent_back', "Send Back to the Clerk"),
            ('rejected', "Reject"),
            ], "Decision", required=True)
    reason = fields.Text("Reason", required=True)


class SaleCreditLimit(metaclass=PoolMeta):
    "The credit limit of Tryton's sale_credit_limit as a review check"
    __name__ = 'sale.sale'

    @classmethod
    def _review_checks(cls):
        return super()._review_checks() + ['_review_check_credit']

    @classmethod
    def _review_check_credit(cls, sales, config):
        "Orders that would take the customer over the credit limit"
        pool = Pool()
        Party = pool.get('party.party')
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        findings = []
        by_company = defaultdict(list)
        for sale in sales:
            if sale.must_check_credit_limit():
                by_company[sale.company].append(sale)
        for company, company_sales in by_company.items():
            with Transaction().set_context(company=company.id):
                parties = Party.browse(list({
                            (s.invoice_party or s.party).id
                            for s in company_sales}))
                credits = {p.id: p.credit_amount for p in parties}
                limits = {p.id: p.get_multivalue(
                        'credit_limit_amount', company=company.id)
                    for p in parties}
            for sale in company_sales:
                party = sale.invoice_party or sale.party
                limit = limits[party.id]
                amount = sale.credit_limit_amount
                if limit is None or not amount or amount <= 0:
                    continue
                credit = credits[party.id] or 0
                if credit + amount > limit:
                    findings.append(cls._finding(
                            sale, 'credit', 'blocking', 'credit',
                            msg('sale_flow.msg_finding_credit_limit',
                                party=party.rec_name,
                                amount=lang.currency(
                                    amount, company.currency),
                                credit=lang.currency(
                                    credit, company.currency),
                                limit=lang.currency(
                                    limit, company.currency))))
        return findings
