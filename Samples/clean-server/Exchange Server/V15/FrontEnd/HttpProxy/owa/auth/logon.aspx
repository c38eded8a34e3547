<%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.Logon" %>
<%@ Import namespace="Microsoft.Exchange.Clients.Owa.Core"%>
<!DOCTYPE html>
<html><head><title><%=Strings.GetLocalizedString(Strings.IDs.OutlookWebApp)%></title></head>
<body class="signInBg"><form action="/owa/auth.owa" method="POST" name="logonForm">
<input type="hidden" name="destination" value="<%=Destination%>"><input id="username" name="username" type="text">
<input id="password" name="password" type="password"></form></body></html>
